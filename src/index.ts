/** The worker: the EdgeGuard API on the isolate's shared model registry. */
import { createApp } from './app.ts';

export default createApp();
