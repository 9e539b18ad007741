// index.js starts qlab's JupyterLab: JupyterLab 3.6's core plugins that a
// notebook user needs, and the Jupyter widgets manager. It follows
// JupyterLab's examples/app; the plugin list must match
// package.json's "jupyterlab.extensions", from which webpack.config.js copies
// settings schemas and themes.
import { JupyterLab } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';

// The public path must be set before any CSS or lazily loaded chunk.
// eslint-disable-next-line no-undef
__webpack_public_path__ = PageConfig.getOption('fullStaticUrl') + '/';

const styles = import('./build/style.js');

const extensions = [
  import('@jupyter-widgets/jupyterlab-manager'),
  import('@jupyterlab/application-extension'),
  import('@jupyterlab/apputils-extension'),
  import('@jupyterlab/codemirror-extension'),
  import('@jupyterlab/completer-extension'),
  import('@jupyterlab/console-extension'),
  import('@jupyterlab/docmanager-extension'),
  import('@jupyterlab/filebrowser-extension'),
  import('@jupyterlab/fileeditor-extension'),
  import('@jupyterlab/inspector-extension'),
  import('@jupyterlab/launcher-extension'),
  import('@jupyterlab/mainmenu-extension'),
  import('@jupyterlab/notebook-extension'),
  import('@jupyterlab/rendermime-extension'),
  import('@jupyterlab/running-extension'),
  import('@jupyterlab/shortcuts-extension'),
  import('@jupyterlab/statusbar-extension'),
  import('@jupyterlab/theme-light-extension'),
  import('@jupyterlab/tooltip-extension'),
  import('@jupyterlab/translation-extension'),
  import('@jupyterlab/ui-components-extension'),
];

// Plugins left out: the news and update check talks to /lab/api/news,
// which only the jupyterlab Python package serves (and it would reach out
// to the internet).
const disabled = new Set(['@jupyterlab/apputils-extension:announcements']);

window.addEventListener('load', async () => {
  await styles;
  const lab = new JupyterLab();
  for (const mod of await Promise.all(extensions)) {
    const exported = mod.default;
    const plugins = Array.isArray(exported) ? exported : [exported];
    lab.registerPlugins(plugins.filter((p) => !disabled.has(p.id)));
  }
  await lab.start();
  await lab.restored;
  // For the browser test (notebooks/browser/lab.mjs), which reads kernel
  // status and execution counts from the application and waits for this
  // flag rather than for a DOM detail.
  window.qlabLab = lab;
  document.body.dataset.qlabLabRestored = 'true';
});
