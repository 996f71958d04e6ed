/**
 * The test cluster's controllers and simulated Nodes: the embedded environment's starter
 * (shared/local/embedded/cluster.ts).
 */
export {
  startCluster,
  type ClusterAssets,
  type ClusterConnection,
  type ClusterEnvironment,
} from '../../shared/local/embedded/cluster.ts';
