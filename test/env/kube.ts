/**
 * The test environment's kube-apiserver + etcd and its binaries: the embedded environment's
 * starters (shared/local/embedded), which `npm start` uses without a cluster too.
 */
export { resolveAssets } from '../../shared/local/embedded/assets.ts';
export {
  startKube,
  type ControlPlaneFiles,
  type KubeConnection,
  type KubeEnvironment,
} from '../../shared/local/embedded/kube.ts';
