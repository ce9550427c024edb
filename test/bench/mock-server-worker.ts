/** Runs the mock LLM server in a worker thread, so the benchmark's client has the main thread to itself. */
import { parentPort } from 'node:worker_threads';
import { startMockLlm } from '../fixtures/llm/server.ts';

const llm = await startMockLlm();
llm.generate = () => ({ text: 'Sure, here is a short answer of a few tokens.' });
parentPort!.postMessage({ url: llm.url });
parentPort!.on('message', async (message: string) => {
  if (message === 'count') parentPort!.postMessage({ count: llm.requests.length });
  if (message === 'close') {
    await llm.close();
    parentPort!.close();
  }
});
