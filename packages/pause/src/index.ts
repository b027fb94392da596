export {
  type Condition,
  type ConditionOperator,
  checkPath,
  matchesConditions,
  readPath,
  validateConditions,
} from "./conditions.js";
export { readPauseRequest } from "./pause-request.js";
export {
  matchPauseRequest,
  type PauseHandle,
  type PauseRegistration,
  type PauseRequestData,
  PauseService,
  type PauseServiceOptions,
  type PauseSink,
} from "./pause-service.js";
