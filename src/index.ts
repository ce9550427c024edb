/** The worker: the EdgeGuard API over HTTP and RPC, on the isolate's shared model registry. */
export { EdgeGuard as default } from './entrypoint.ts';
