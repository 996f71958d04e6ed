/**
 * The composition root: the list of every function, handed to the local runtime that runs
 * them together in one process (`npm start`). The phase functions and the local runtime
 * (in-process broker routing by deploy/'s Triggers, and an ApiServerSource that watches the
 * current kubeconfig's cluster) are built in later steps; until then `npm start` says so.
 */
import { notYetImplemented } from '../shared/runtime/not-yet-implemented.ts';

notYetImplemented(
  'the local runtime (all functions in one process, with an in-process broker) is not implemented yet; ' +
    'see README.md, "Status", for what works today',
);
