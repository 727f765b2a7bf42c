import { engineTools } from "./engine.ts";
import { floorTools } from "./floor.ts";
import { peerTools } from "./peers.ts";
import type { Tool } from "./tool.ts";

/** Every tool of the apply suite, floors first. */
export const allTools: readonly Tool[] = [...floorTools, ...engineTools, ...peerTools];
