//! What the servers on this host are configured to do (filled in by the layout work).

pub mod apache;
