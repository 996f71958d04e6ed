/**
 * The echo function wired with NodeSDK telemetry (benchmark only). Same steps as
 * shared/runtime/run-function.ts, with the telemetry factory swapped.
 */
import { parseConfig } from '../../shared/config/runtime-config.ts';
import { createFunctionApp } from '../../shared/runtime/app.ts';
import { serve } from '../../shared/runtime/serve.ts';
import { createLogger } from '../../shared/telemetry/logger.ts';
import { echo } from '../../test/fixtures/echo-function/handler.ts';
import { startNodeSdkTelemetry } from './nodesdk-telemetry.ts';

const config = parseConfig();
const logger = createLogger({ name: config.functionName, level: config.logLevel });
const telemetry = startNodeSdkTelemetry(config);
const fn = createFunctionApp({ name: config.functionName, handle: echo, logger, telemetry });
await serve(fn, config);
