// Removes a build output folder; cross-platform, no dependency.
require('node:fs').rmSync(process.argv[2], { recursive: true, force: true });
