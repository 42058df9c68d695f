// Fails with a clear message where Node.js is too old for oidc-provider and its
// dependencies (Debian bookworm's nodejs is 18): install 20.19 or newer.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`oidc-provider needs Node.js 20.19 or newer; this is ${process.version}`);
  process.exit(1);
}
