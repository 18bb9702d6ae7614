// Entry of the script-tag build (dist/swarmcast.iife.js): the package's API as
// the global `Swarmcast`, for pages that load their player without a bundler.
import { Swarmcast } from "./index.js";

globalThis.Swarmcast = Swarmcast;
