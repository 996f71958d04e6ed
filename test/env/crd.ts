/** Installing a CRD on the test API server: the embedded environment's helper. */
export { installCrd, type CrdManifest } from '../../shared/local/embedded/crd.ts';
