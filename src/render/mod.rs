//! Reports for people: text for the terminal, one self-contained HTML page. (JSON is the
//! report structs serialised as they are.)

pub mod html;
pub mod text;
