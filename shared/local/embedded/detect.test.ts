import assert from 'node:assert/strict';
import { delimiter } from 'node:path';
import { describe, test } from 'node:test';
import {
  SERVICE_ACCOUNT_TOKEN,
  clusterConfigured,
  type ClusterChoice,
  type ClusterLookup,
} from './detect.ts';

const HOME = '/home/dev';
const HOME_CONFIG = '/home/dev/.kube/config';

/** A lookup on a machine where exactly `files` exist. */
function lookup(files: string[], rest: Partial<ClusterLookup> = {}): ClusterLookup {
  return { env: {}, home: HOME, exists: (path) => files.includes(path), ...rest };
}

/** The one line of a `none` choice. */
function reasonOf(choice: ClusterChoice): string {
  if (choice.kind !== 'none') assert.fail(`expected no cluster, got ${JSON.stringify(choice)}`);
  return choice.reason;
}

describe('clusterConfigured', () => {
  test('the --kubeconfig flag wins over KUBECONFIG and ~/.kube/config, even when missing', () => {
    const choice = clusterConfigured(
      lookup(['/a/config', HOME_CONFIG], {
        kubeconfigFlag: '/missing/flag-config',
        env: { KUBECONFIG: '/a/config' },
      }),
    );
    assert.deepEqual(choice, { kind: 'kubeconfig', path: '/missing/flag-config', source: 'flag' });
  });

  test('KUBECONFIG wins over ~/.kube/config; the first existing file of its list is used', () => {
    const choice = clusterConfigured(
      lookup(['/b/config', HOME_CONFIG], {
        env: { KUBECONFIG: ['/a/config', '/b/config'].join(delimiter) },
      }),
    );
    assert.deepEqual(choice, { kind: 'kubeconfig', path: '/b/config', source: 'KUBECONFIG' });
  });

  test('~/.kube/config is used when nothing else is set', () => {
    assert.deepEqual(clusterConfigured(lookup([HOME_CONFIG])), {
      kind: 'kubeconfig',
      path: HOME_CONFIG,
      source: 'home',
    });
  });

  test('an empty flag or KUBECONFIG counts as not set', () => {
    const choice = clusterConfigured(
      lookup([HOME_CONFIG], { kubeconfigFlag: ' ', env: { KUBECONFIG: '' } }),
    );
    assert.deepEqual(choice, { kind: 'kubeconfig', path: HOME_CONFIG, source: 'home' });
  });

  test('with nothing configured, one line says what was looked at and what happens instead', () => {
    const reason = reasonOf(clusterConfigured(lookup([])));
    assert.equal(
      reason,
      `No cluster configured (no --kubeconfig, no KUBECONFIG, no ${HOME_CONFIG}): starting an embedded environment instead.`,
    );
    assert.doesNotMatch(reason, /\n/);
  });

  test('a KUBECONFIG naming no existing file is no cluster, and ~/.kube/config is not tried (as kubectl)', () => {
    const choice = clusterConfigured(lookup([HOME_CONFIG], { env: { KUBECONFIG: '/gone' } }));
    assert.match(reasonOf(choice), /KUBECONFIG=\/gone names no existing file/);
  });

  test("KUBECONFIG naming the embedded environment's own kubeconfig (an earlier run) is no cluster", () => {
    const own = '/repo/.local/kubeconfig';
    const choice = clusterConfigured(
      lookup([own], { env: { KUBECONFIG: own }, embeddedKubeconfigPath: own }),
    );
    assert.match(
      reasonOf(choice),
      /the embedded environment's own kubeconfig, from an earlier run/,
    );
  });

  test('in a Pod (service host, port and token) the in-cluster configuration is used, not an embedded cluster', () => {
    const inPod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const token = (path: string) => path === SERVICE_ACCOUNT_TOKEN;
    assert.deepEqual(clusterConfigured({ env: inPod, home: '/home/u', exists: token }), {
      kind: 'in-cluster',
    });
    assert.equal(
      clusterConfigured({ env: inPod, home: '/home/u', exists: () => false }).kind,
      'none',
    );
    assert.equal(
      clusterConfigured({
        env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
        home: '/home/u',
        exists: token,
      }).kind,
      'none',
    );
  });
});
