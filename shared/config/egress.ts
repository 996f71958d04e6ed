/**
 * Settings of the egress policy (shared/net/egress.ts): which addresses the reconciler may
 * dial for a tenant. The database host and the S3 endpoint come from a tenant's Secret; the
 * policy refuses loopback, link-local (the cloud metadata address among them) and unspecified
 * addresses always, and the cluster's own ranges listed here; the allow-list overrides both.
 * Composed into the schema of every function that dials a tenant address.
 */
import { parseAllowEntry, parseCidr } from '../net/cidr.ts';
import { list, type ConfigOf } from './settings.ts';

/** The variable names, also quoted by the policy's refusal messages. */
export const EGRESS_VARIABLES = Object.freeze({
  allow: 'EGRESS_ALLOW',
  clusterCidrs: 'EGRESS_CLUSTER_CIDRS',
});

/** The egress settings, composed into a function's schema. */
export const egressSchema = {
  egress: {
    /**
     * Comma-separated CIDRs, addresses, host names and `*.domain` patterns that may always be
     * dialled, whatever they resolve to (default: none). For a platform whose tenants use an
     * in-cluster PostgreSQL or S3, e.g. `*.db.svc.cluster.local,10.100.0.0/16`.
     */
    allow: list(EGRESS_VARIABLES.allow, (item) =>
      parseAllowEntry(item)
        ? undefined
        : 'is not a CIDR (10.0.0.0/8), an address, a host name or a *.domain pattern',
    ),
    /**
     * Comma-separated CIDRs of the cluster's own Service and Pod ranges, refused unless allowed
     * (default: none; e.g. `10.96.0.0/12,10.244.0.0/16`).
     */
    clusterCidrs: list(EGRESS_VARIABLES.clusterCidrs, (item) =>
      parseCidr(item) ? undefined : 'is not a CIDR such as 10.96.0.0/12 or fd00:10:96::/112',
    ),
  },
};

/** The parsed egress settings. */
export type EgressSettings = ConfigOf<typeof egressSchema>['egress'];
