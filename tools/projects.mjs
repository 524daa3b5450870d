// The workspace's projects and the dependencies ARCHITECTURE.md allows between them.
// One table, used by the graph test and the pack check.
export const projects = {
  p9p: { dir: 'packages/p9p', pkg: '@kitbox/p9p', deps: [] },
  vpnkit: { dir: 'packages/vpnkit', pkg: '@kitbox/vpnkit', deps: [] },
  hyperkit: { dir: 'packages/hyperkit', pkg: '@kitbox/hyperkit', deps: [] },
  datakit: { dir: 'packages/datakit', pkg: '@kitbox/datakit', deps: ['p9p'] },
  desktop: { dir: 'apps/desktop', pkg: '@kitbox/desktop', deps: ['datakit', 'hyperkit', 'p9p', 'vpnkit'] },
};
