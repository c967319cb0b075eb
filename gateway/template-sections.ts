// The sections of a cluster template version, the cluster fields each renders into, and the
// bounds on what a version holds.

/**
 * Each section is one Go template. Order matters only for the order of render_errors.
 * - cluster_configuration: ClusterConfiguration (Kubernetes);
 * - provider_specific_cluster_configuration: placement (<Provider>ClusterConfiguration or
 *   StaticClusterConfiguration);
 * - ssh_configuration: dhctl.deckhouse.io/v1 SSHConfig and SSHHost documents, which give the
 *   connection hosts the manager dials;
 * - resources: Kubernetes manifests the agent keeps applied;
 * - init_resources: manifests applied once at bootstrap;
 * - init_configuration: InitConfiguration (registry settings at bootstrap).
 */
export const TEMPLATE_SECTIONS = {
  cluster_configuration: 'desired_cluster_configuration_rendered',
  provider_specific_cluster_configuration: 'desired_provider_specific_cluster_configuration_rendered',
  ssh_configuration: 'dhctl_configuration_rendered',
  resources: 'desired_resources_rendered',
  init_resources: 'init_resources_rendered',
  init_configuration: 'init_configuration_rendered',
} as const;

export type SectionName = keyof typeof TEMPLATE_SECTIONS;
export type RenderedField = (typeof TEMPLATE_SECTIONS)[SectionName];
export const SECTION_NAMES = Object.keys(TEMPLATE_SECTIONS) as SectionName[];
/** The rendered fields, in section order. */
export const RENDERED_FIELDS = SECTION_NAMES.map((name) => TEMPLATE_SECTIONS[name]);

export const TEMPLATE_LIMITS = {
  /** Characters in one section's template. */
  sectionChars: 256 * 1024,
  /** Characters one section may render to; more is a render error. */
  renderedChars: 4 * 1024 * 1024,
  /** A template's or version's comment. */
  commentChars: 16 * 1024,
  /** Versions a template may be created with in one request. */
  versionsPerRequest: 20,
  /** The body of a template or version request: every section at its largest, and the rest. */
  bodyBytes: 8 * 1024 * 1024,
  /** How long one cluster's sections may take to render. */
  renderTimeoutMs: 10_000,
} as const;
