/**
 * What the embedded environment puts on its cluster so the reconciler has work at once: the
 * CRDs of deploy/crd, a namespace `demo`, the Secrets the example project names (a fresh
 * database of the embedded PostgreSQL, a fresh bucket of the embedded S3 server) and the
 * example project deploy/examples/supabaseproject-minimal.yaml, applied as it is.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import { parse, parseAllDocuments } from 'yaml';
import { API_GROUP_VERSION, KIND, PLURAL } from '../../api/group-version.ts';
import {
  DATABASE_SECRET_KEYS,
  OPTIONAL_DATABASE_SECRET_KEYS,
  STORAGE_SECRET_KEYS,
} from '../../api/secret-keys.ts';
import type { CrdManifest } from './crd.ts';
import type { PostgresConnection } from './postgres.ts';
import type { S3Connection } from './s3.ts';

/** The example applied into the demo namespace, relative to the repository root. */
export const DEMO_MANIFEST = 'deploy/examples/supabaseproject-minimal.yaml';

/** The folder of the CRDs, relative to the repository root. */
const CRD_FOLDER = 'deploy/crd';

/** The namespace of the demo project. */
export const DEMO_NAMESPACE = 'demo';

/** The database and the bucket made for the demo project. */
const DEMO_DATABASE = 'demo';
const DEMO_BUCKET = 'demo';

/**
 * Reads every CustomResourceDefinition in deploy/crd/*.yaml (but kustomization.yaml).
 * @param repoRoot - the repository root
 * @throws Error naming the file when it holds something else, or nothing is found
 */
export async function readCrds(repoRoot: string): Promise<CrdManifest[]> {
  const folder = join(repoRoot, CRD_FOLDER);
  // kustomization.yaml lists the CRDs for `kubectl apply -k`; it is not one of them.
  const files = (await readdir(folder))
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort();
  const crds: CrdManifest[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(join(folder, file), 'utf8'))) {
      const manifest = document.toJS() as Partial<CrdManifest> | null;
      if (manifest === null) continue;
      if (manifest.kind !== 'CustomResourceDefinition' || !manifest.metadata?.name) {
        throw new Error(
          `${CRD_FOLDER}/${file} holds a ${String(manifest.kind)}; only CustomResourceDefinitions belong there`,
        );
      }
      crds.push(manifest as CrdManifest);
    }
  }
  if (crds.length === 0) throw new Error(`${CRD_FOLDER} holds no CustomResourceDefinition`);
  return crds;
}

/** The example project: only what is needed to apply it. */
interface ProjectManifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec: {
    readonly database: { readonly secretRef: { readonly name: string } };
    readonly storage: { readonly secretRef: { readonly name: string } };
  };
}

/** The same as read from the file, before it is checked. */
interface UncheckedManifest {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: unknown };
  readonly spec?: {
    readonly database?: { readonly secretRef?: { readonly name?: unknown } };
    readonly storage?: { readonly secretRef?: { readonly name?: unknown } };
  };
}

/**
 * Reads the example project and checks it is one the demo can serve.
 * @throws Error naming the file and what is wrong with it
 */
async function readDemoProject(repoRoot: string): Promise<ProjectManifest> {
  const text = await readFile(join(repoRoot, DEMO_MANIFEST), 'utf8');
  const manifest = parse(text) as UncheckedManifest | null;
  const named = (value: unknown): boolean => typeof value === 'string' && value !== '';
  if (
    manifest?.apiVersion !== API_GROUP_VERSION ||
    manifest.kind !== KIND ||
    !named(manifest.metadata?.name) ||
    !named(manifest.spec?.database?.secretRef?.name) ||
    !named(manifest.spec?.storage?.secretRef?.name)
  ) {
    throw new Error(
      `${DEMO_MANIFEST} must be one ${API_GROUP_VERSION} ${KIND} with metadata.name and the ` +
        'secretRef names of spec.database and spec.storage',
    );
  }
  return manifest as ProjectManifest;
}

/** What the demo project was created with. */
export interface DemoProject {
  readonly namespace: string;
  /** The SupabaseProject's name. */
  readonly name: string;
  readonly databaseSecret: string;
  readonly storageSecret: string;
  /** The database and the bucket made for it. */
  readonly database: string;
  readonly bucket: string;
}

/** The servers the demo project uses and how to reach the API server. */
export interface DemoServers {
  readonly kubeconfigPath: string;
  readonly postgres: PostgresConnection;
  /** The PostgreSQL server's certificate (its own CA), for the Secret's `ca.crt`. */
  readonly postgresCaPem: string;
  readonly s3: S3Connection;
}

/**
 * Creates the demo namespace, its database and bucket, the Secrets naming them, and applies
 * the example project. The CRDs are already installed (before the controllers started).
 * @param repoRoot - the repository root (the example manifest)
 * @param servers - the running servers
 * @returns what was created
 */
export async function createDemoProject(
  repoRoot: string,
  servers: DemoServers,
): Promise<DemoProject> {
  const manifest = await readDemoProject(repoRoot);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(servers.kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const namespace = DEMO_NAMESPACE;
  const demo: DemoProject = {
    namespace,
    name: manifest.metadata.name,
    databaseSecret: manifest.spec.database.secretRef.name,
    storageSecret: manifest.spec.storage.secretRef.name,
    database: DEMO_DATABASE,
    bucket: DEMO_BUCKET,
  };
  await Promise.all([
    core.createNamespace({ body: { metadata: { name: namespace } } }),
    createDatabase(servers.postgres, demo.database),
    createBucket(servers.s3, demo.bucket),
  ]);
  const { postgres, s3 } = servers;
  await Promise.all([
    createSecret(core, namespace, demo.databaseSecret, {
      [DATABASE_SECRET_KEYS.host]: postgres.host,
      [DATABASE_SECRET_KEYS.port]: String(postgres.port),
      [DATABASE_SECRET_KEYS.database]: demo.database,
      // The superuser, as the example asks: init-db creates Supabase's roles and extensions.
      [DATABASE_SECRET_KEYS.username]: postgres.user,
      [DATABASE_SECRET_KEYS.password]: postgres.password,
      [OPTIONAL_DATABASE_SECRET_KEYS.caCertificate]: servers.postgresCaPem,
    }),
    createSecret(core, namespace, demo.storageSecret, {
      [STORAGE_SECRET_KEYS.endpoint]: s3.endpoint,
      [STORAGE_SECRET_KEYS.region]: s3.region,
      [STORAGE_SECRET_KEYS.bucket]: demo.bucket,
      [STORAGE_SECRET_KEYS.accessKeyId]: s3.accessKeyId,
      [STORAGE_SECRET_KEYS.secretAccessKey]: s3.secretAccessKey,
    }),
  ]);
  const [group = '', version = ''] = manifest.apiVersion.split('/');
  await customObjects.createNamespacedCustomObject({
    group,
    version,
    plural: PLURAL,
    namespace,
    body: { ...manifest, metadata: { ...manifest.metadata, namespace } },
  });
  return demo;
}

async function createSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
  values: Record<string, string>,
): Promise<void> {
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name }, type: 'Opaque', stringData: values },
  });
}

async function createDatabase(postgres: PostgresConnection, database: string): Promise<void> {
  const client = new pg.Client({ ...postgres });
  await client.connect();
  try {
    // The name is a constant of this module, not input: no quoting needed.
    await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
}

async function createBucket(s3: S3Connection, bucket: string): Promise<void> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}
