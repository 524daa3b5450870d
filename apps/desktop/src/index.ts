/**
 * @kitbox/desktop: the backend of the Kitbox desktop app, as a library.
 * What exists today: settings validation and host diagnosis; see README.md.
 */
export { diagnose, formatChecks, type Check, type DiagnoseOptions } from './backend/diagnose.js';
export {
  SettingsError,
  defaultSettings,
  parseSettings,
  type HostLimits,
  type Settings,
} from './backend/settings.js';
