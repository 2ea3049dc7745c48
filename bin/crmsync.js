#!/usr/bin/env node
import { main } from '../dist/cli.js';

// `crmsync history | head`: the reader went away; that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);
