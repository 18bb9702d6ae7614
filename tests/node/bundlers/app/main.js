// The entry a bundler builds: the package imported by its name, as users do.
import Hls from "hls.js";
import { Swarmcast } from "swarmcast";
import { check } from "./check.js";

window.result = check(Hls, Swarmcast);
