export { CidrSet, isV4Mapped, type ParsedCidr, parseCidr } from "./cidr.js";
export { PolicyHolder, type SwapListener } from "./holder.js";
export { type HostPattern, HostResolver, parseHostPattern } from "./hosts.js";
export {
  type CompiledListener,
  CompiledPolicy,
  type CompiledTenant,
  type DecisionInput,
  decideForTenant,
  type PolicyDecision,
  type Verdict,
} from "./policy.js";
export { ConnectionRegistry } from "./registry.js";
