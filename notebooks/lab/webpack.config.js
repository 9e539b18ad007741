// webpack.config.js builds qlab's JupyterLab frontend into build/, as
// JupyterLab's own examples/app does (v3.6.8): @jupyterlab/builder copies
// each extension's settings schemas and themes and writes build/style.js;
// webpack bundles index.js. Production mode without minification: tree
// shaking and no source maps keep the bundle lean, and skipping terser keeps
// the build inside CI's time on two cores.
const path = require('path');
const crypto = require('crypto');
const webpack = require('webpack');
const { Build } = require('@jupyterlab/builder');
const data = require('./package.json');

// Loaders of this generation hash with md4, which Node 17+ (OpenSSL 3)
// refuses; JupyterLab's example applies the same substitution.
const createHash = crypto.createHash;
crypto.createHash = (algorithm) => createHash(algorithm === 'md4' ? 'sha256' : algorithm);

const output = path.join(__dirname, 'build');

const assets = Build.ensureAssets({
  packageNames: data.jupyterlab.extensions,
  output,
  hashFunction: 'sha256',
});

module.exports = [
  {
    entry: './index.js',
    output: { path: output, filename: 'bundle.js', chunkFilename: '[name].[contenthash].js', clean: false, hashFunction: 'sha256' },
    bail: true,
    devtool: false,
    mode: 'production',
    optimization: { minimize: false },
    performance: { hints: false },
    module: {
      rules: [
        { test: /\.css$/, use: ['style-loader', 'css-loader'] },
        { test: /\.md$/, type: 'asset/source' },
        { test: /\.(jpg|png|gif)$/, type: 'asset/resource' },
        { test: /\.(woff2?|ttf|eot)(\?v=\d+\.\d+\.\d+)?$/, type: 'asset/resource' },
        {
          // In .css files, svg is loaded as a data URI.
          test: /\.svg(\?v=\d+\.\d+\.\d+)?$/,
          issuer: /\.css$/,
          use: { loader: 'svg-url-loader', options: { encoding: 'none', limit: 10000 } },
        },
        {
          // In .js files, svg is a raw string (LabIcon).
          test: /\.svg(\?v=\d+\.\d+\.\d+)?$/,
          issuer: /\.js$/,
          type: 'asset/source',
        },
      ],
    },
    resolve: { fallback: { path: false, url: false, util: false, crypto: false, buffer: false, stream: false, fs: false } },
    plugins: [
      new webpack.DefinePlugin({
        // Needed for Blueprint (palantir/blueprint#4393) and for packages
        // calling process.cwd(), as in JupyterLab's example.
        'process.env': '{}',
        process: { cwd: () => '/' },
      }),
    ],
  },
].concat(assets);
