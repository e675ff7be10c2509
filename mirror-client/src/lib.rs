//! mirror-client: filled in by issue 3.
