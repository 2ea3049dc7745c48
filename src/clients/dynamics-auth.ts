// The Dynamics 365 emulator's tests sign in through crmsync's token provider at this path.
export { createDispatcher, DynamicsTokenProvider } from './dynamics/auth.js';
