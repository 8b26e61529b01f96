export { parseLibraryRef, formatLibraryRef, type LibraryRef } from "./library-ref.js";
export { LibraryStore, LinkError, prepareLibrary, type LibraryModule } from "./library-store.js";
export { AppLinker, type LoadedLibraryInfo } from "./app-linker.js";
export { fetchLibraries } from "./repository-fetch.js";
