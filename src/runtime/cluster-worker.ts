/**
 * The entry point of a worker process of `linkgate serve --workers N`: node:cluster forks it
 * (see cluster.ts), and it waits for the primary to send the configuration.
 */
import { runClusterWorker } from "./cluster.js";

runClusterWorker();
