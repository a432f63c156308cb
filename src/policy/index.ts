export { CidrSet, cidrSetOf, isV4Mapped, type ParsedCidr } from "./cidr.js";
export { PolicyHolder, type SwapListener } from "./holder.js";
export { type HostMatcher, HostResolver, hostMatcher } from "./hosts.js";
export {
  type CompiledListener,
  CompiledPolicy,
  type CompiledTenant,
  type DecisionInput,
  type PolicyDecision,
  ruleIdOf,
  type Verdict,
} from "./policy.js";
export { ConnectionRegistry, type RegistryItem, type TenantConnections } from "./registry.js";
