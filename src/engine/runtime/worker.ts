/**
 * The engine in a worker thread: the extension host sends requests (src/contracts/protocol.ts) and
 * this thread does all tensor math, so the editor never waits on it. Requests run concurrently as
 * far as the engine's awaits allow; the host queues runs so that only one unlearns at a time.
 */
import { parentPort } from 'node:worker_threads';
import { UserInputError } from '../../contracts/errors';
import type { EngineErrorPayload, EngineProgress, EngineRequest, GuardAnswer, GuardTrip, HostToWorker, WorkerToHost } from '../../contracts/protocol';
import { runCheckManifest, runExperimentJob, runUnlearnJob, startBackend } from '../jobs/jobs';
import { runPredict, runPreflight } from '../jobs/inspect';
import { imageImportance, inspectModel, regenerateAdversarial } from '../jobs/modelInspector';

const port = parentPort;
if (!port) throw new Error('engine-worker.js must run as a worker thread.');

function post(message: WorkerToHost): void {
  port!.postMessage(message);
}

const running = new Map<number, AbortController>();
/** Questions waiting for the host's answer, by request id. */
const questions = new Map<number, (answer: GuardAnswer) => void>();

/** Asks the host what to do about a tripped guard; a cancel answers `stop`. */
function ask(id: number, signal: AbortSignal, trip: GuardTrip): Promise<GuardAnswer> {
  if (signal.aborted) return Promise.resolve('stop');
  return new Promise((resolve) => {
    const answer = (a: GuardAnswer) => {
      questions.delete(id);
      signal.removeEventListener('abort', onAbort);
      resolve(a);
    };
    const onAbort = () => answer('stop');
    signal.addEventListener('abort', onAbort);
    questions.set(id, answer);
    post({ type: 'question', id, trip });
  });
}

async function handle(id: number, request: EngineRequest): Promise<void> {
  const controller = new AbortController();
  running.set(id, controller);
  // Progress is throttled: the host needs a few updates a second, not one per tensor op.
  let lastProgress = 0;
  const progress = (p: EngineProgress) => {
    const now = Date.now();
    // An experiment's run that ends (its final evaluation) always gets through: the grid's progress counts them.
    const important = (p.phase !== 'attack' && p.phase !== 'unlearn' && p.phase !== 'experiment') || (p.phase === 'experiment' && p.inner.phase === 'evaluate');
    if (important || now - lastProgress >= 100) {
      lastProgress = now;
      post({ type: 'progress', id, progress: p });
    }
  };
  try {
    let result;
    switch (request.kind) {
      case 'unlearn':
        result = await runUnlearnJob(request, controller.signal, progress, (trip) => ask(id, controller.signal, trip));
        break;
      case 'experiment':
        result = await runExperimentJob(request, controller.signal, progress);
        break;
      case 'checkManifest':
        result = await runCheckManifest(request);
        break;
      case 'predict':
        result = await runPredict(request, controller.signal);
        break;
      case 'preflight':
        result = await runPreflight(request, controller.signal);
        break;
      case 'inspect':
        result = await inspectModel(request.modelPath, startBackend(request.backend));
        break;
      case 'importance':
        await startBackend(request.backend);
        result = await imageImportance(request.modelPath, request.images, request.resize, controller.signal);
        break;
      case 'adversarial':
        result = await regenerateAdversarial(request, controller.signal);
        break;
      case 'backend':
        result = await startBackend(request.backend);
        break;
    }
    post({ type: 'result', id, result });
  } catch (e) {
    const error: EngineErrorPayload =
      e instanceof Error
        ? {
            name: controller.signal.aborted && !(e instanceof UserInputError) ? 'CancelledError' : e.name,
            message: e.message,
            file: (e as UserInputError).file,
            stack: e.stack,
          }
        : { name: 'Error', message: String(e) };
    post({ type: 'error', id, error });
  } finally {
    running.delete(id);
  }
}

port.on('message', (message: HostToWorker) => {
  if (message.type === 'request') void handle(message.id, message.request);
  else if (message.type === 'cancel') running.get(message.id)?.abort();
  else if (message.type === 'answer') questions.get(message.id)?.(message.answer);
});
