//! The OpenAPI description of the HTTP surface, served at `/api/v1/openapi.json`; the route
//! table (`routes::openapi_document`) feeds it the endpoints the router is built from.

use axum::http::Method;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{Info, OpenApi, Paths};

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::GET => HttpMethod::Get,
        Method::HEAD => HttpMethod::Head,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::OPTIONS => HttpMethod::Options,
        _ => HttpMethod::Trace,
    }
}

/// The document for these endpoints: (method, path, tag, summary).
pub fn document<'a>(
    endpoints: impl IntoIterator<Item = (&'a Method, &'a str, &'a str, &'a str)>,
) -> OpenApi {
    let mut paths = Paths::new();
    for (method, path, tag, summary) in endpoints {
        let op = OperationBuilder::new()
            .tag(tag)
            .summary(Some(summary))
            .response("200", ResponseBuilder::new().description("success").build())
            .response(
                "4XX",
                ResponseBuilder::new()
                    .description("ErrorBody {code, message, expected_seq?}")
                    .build(),
            )
            .build();
        paths.add_path_operation(path, vec![http_method(method)], op);
    }
    let mut info = Info::new("Onsite server", env!("CARGO_PKG_VERSION"));
    info.description = Some(
        "Sync protocol for devices and the back-office API. Bearer tokens from /api/v1/auth/login."
            .into(),
    );
    OpenApi::new(info, paths)
}
