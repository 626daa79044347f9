/** The tilt.dev/v1alpha1 API: kinds, their types and the rules shared by server and clients. */
export * from './meta.ts';
export * from './go.ts';
export * from './field-errors.ts';
export * from './kind.ts';
export * from './registry.ts';
export * from './common.ts';
export * from './cluster.ts';
export * from './cmd.ts';
export * from './cmdimage.ts';
export * from './configmap.ts';
export * from './dockercomposeservice.ts';
export * from './filewatch.ts';
export * from './imagemap.ts';
export * from './kubernetesdiscovery.ts';
export * from './liveupdate.ts';
export * from './session.ts';
export { toOpenAPI } from './schema.ts';
export { validateObject, type ValidationResult } from './validate.ts';
