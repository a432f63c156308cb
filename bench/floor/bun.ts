/**
 * Bun's floor on its `node:net`: the Node.js floor (bench/floor/node.ts), line for line, run by
 * Bun. `npm run bench` runs it as `floor-bun`; the Bun engine's yardstick is `floor-bun-native`
 * (bench/floor/bun-native.ts), on Bun's own sockets.
 *
 *   bun bench/floor/bun.ts LISTEN:PORT UPSTREAM:PORT HOST[,HOST...] [v2|none] [CIDR,...]
 */
import "./node.ts";
