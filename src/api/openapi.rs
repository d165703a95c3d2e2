//! The OpenAPI document, generated from the handlers' annotations and the DTO types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{devices, dto, error, events, health, pairing, prints, scans, tokens};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "counter-agent", description = "Localhost API of the counter PC agent: scanner, printers, queue devices."),
    paths(
        health::health,
        devices::list, devices::get,
        events::ticket, events::stream,
        pairing::start, pairing::complete,
        scans::start, scans::list, scans::get, scans::resume, scans::delete, scans::page, scans::thumbnail,
        scans::delete_page, scans::rotate, scans::reorder, scans::document,
        prints::submit, prints::preview, prints::get, prints::cancel, prints::demo_fault,
        tokens::list, tokens::revoke, tokens::revoke_self,
    ),
    components(schemas(error::ErrorCode, error::ErrorBody, error::ErrorDetail, dto::EventDto)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
