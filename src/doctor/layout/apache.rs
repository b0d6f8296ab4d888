//! Apache's configuration as it will be read (filled in by the Apache layout work).
