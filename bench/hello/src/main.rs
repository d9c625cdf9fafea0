//! The floor of the cold-start benchmark: the same runtime and profile as TaskFlow's
//! functions, without AWS clients, configuration or work.
use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: Request| async { Ok::<_, Error>(Response::new(Body::Text("hello".into()))) })).await
}
