export { createEnvService, defaultGlobalEnv, type EnvLayer, type EnvService } from "./env-service.js";
