/**
 * Plain shapes of the Kubernetes objects the builders produce (apps/v1 Deployment, v1
 * Service, v1 ConfigMap and the container parts they need), and the small constructors every
 * builder shares. Only shared/k8s may import @kubernetes/client-node, so these are our own
 * types: the fields the builders set, named and nested exactly as the API has them, so
 * server-side apply takes the objects as they are.
 */
import type { BuildableProject, Manifest } from './types.ts';

/** core/v1 SecretKeySelector. */
export interface SecretKeySelector {
  readonly name: string;
  readonly key: string;
}

/** core/v1 EnvVarSource (the forms a builder or a user's extraEnv uses). */
export interface EnvVarSource {
  readonly secretKeyRef?: SecretKeySelector & { readonly optional?: boolean };
  readonly configMapKeyRef?: SecretKeySelector & { readonly optional?: boolean };
  readonly fieldRef?: { readonly apiVersion?: string; readonly fieldPath: string };
  readonly resourceFieldRef?: {
    readonly containerName?: string;
    readonly resource: string;
    readonly divisor?: number | string;
  };
}

/** core/v1 EnvVar: a literal `value` or a `valueFrom`. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: EnvVarSource;
}

/** core/v1 ContainerPort. */
export interface ContainerPort {
  readonly name: string;
  readonly containerPort: number;
  readonly protocol: 'TCP';
}

/** core/v1 Probe with an HTTP GET or an exec handler. */
export interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: number; readonly scheme: 'HTTP' };
  readonly exec?: { readonly command: readonly string[] };
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
  readonly successThreshold?: number;
}

/** core/v1 ResourceRequirements. */
export interface ResourceRequirements {
  readonly requests?: Readonly<Record<string, number | string>>;
  readonly limits?: Readonly<Record<string, number | string>>;
}

/** core/v1 VolumeMount. */
export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

/** core/v1 Volume (the ConfigMap form the builders use). */
export interface Volume {
  readonly name: string;
  readonly configMap: { readonly name: string; readonly defaultMode?: number };
}

/** core/v1 Container. */
export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly ports: readonly ContainerPort[];
  readonly env: readonly EnvVar[];
  readonly resources: ResourceRequirements;
  readonly startupProbe: Probe;
  readonly readinessProbe: Probe;
  readonly livenessProbe: Probe;
  readonly volumeMounts?: readonly VolumeMount[];
}

/** core/v1 ServicePort. */
export interface ServicePort {
  readonly name: string;
  readonly port: number;
  readonly targetPort: number;
  readonly protocol: 'TCP';
}

/** metadata.ownerReferences[] pointing at the project. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller: true;
  readonly blockOwnerDeletion: true;
  /** Manifest's metadata takes any owner reference shape. */
  readonly [field: string]: unknown;
}

/** Metadata of every built object. */
export interface BuiltMetadata {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerReference[];
}

/** apps/v1 Deployment as built. */
export interface DeploymentManifest extends Manifest {
  readonly apiVersion: 'apps/v1';
  readonly kind: 'Deployment';
  readonly metadata: BuiltMetadata;
  readonly spec: {
    readonly replicas: number;
    /** After this long without progress the controller sets Progressing=False (deadline). */
    readonly progressDeadlineSeconds: number;
    readonly selector: { readonly matchLabels: Readonly<Record<string, string>> };
    readonly template: {
      readonly metadata: { readonly labels: Readonly<Record<string, string>> };
      readonly spec: {
        readonly enableServiceLinks: false;
        readonly containers: readonly [Container];
        readonly volumes?: readonly Volume[];
      };
    };
  };
}

/** v1 Service as built. */
export interface ServiceManifest extends Manifest {
  readonly apiVersion: 'v1';
  readonly kind: 'Service';
  readonly metadata: BuiltMetadata;
  readonly spec: {
    readonly type: 'ClusterIP';
    readonly selector: Readonly<Record<string, string>>;
    readonly ports: readonly ServicePort[];
  };
}

/** v1 ConfigMap as built. */
export interface ConfigMapManifest extends Manifest {
  readonly apiVersion: 'v1';
  readonly kind: 'ConfigMap';
  readonly metadata: BuiltMetadata;
  readonly data: Readonly<Record<string, string>>;
}

/** The field manager and `managed-by` label value of this reconciler. */
export const MANAGED_BY = 'supabase-reconciler';

/**
 * The owner reference every built object carries: the project is the controller, so the
 * garbage collector removes the objects with it and a second controller cannot adopt them.
 * @param project - the project
 */
export function ownerReference(project: BuildableProject): OwnerReference {
  return {
    apiVersion: project.apiVersion,
    kind: project.kind,
    name: project.metadata.name,
    uid: project.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * An env entry with a literal value.
 * @param name - the variable
 * @param value - its value
 */
export function literal(name: string, value: string): EnvVar {
  return { name, value };
}

/**
 * An env entry read from a Secret key in the pod's namespace. Secret values never appear in
 * a built object: the kubelet resolves them when it starts the container.
 * @param name - the variable
 * @param secret - the Secret's name
 * @param key - the key in the Secret
 */
export function fromSecret(name: string, secret: string, key: string): EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}
