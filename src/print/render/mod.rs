//! Pure rendering of print templates: validated template data in, document bytes out (PDF for page
//! printers, ESC/POS for thermal printers). No I/O, no clock, no tokio: the caller fills in the
//! time and the office, so every render is reproducible in a test.

pub mod a4;
pub mod data;
pub mod pdf;
pub mod thermal;

pub use data::{
    DocumentCopy, DossierReceipt, Office, QueueTicket, ReceivedDocument, TemplateData, TemplateError, TEMPLATE_NAMES,
};
