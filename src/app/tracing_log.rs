//! `-v` for libraries that report through `tracing` rather than `log` (object_store's S3
//! retries and back-offs): a minimal `tracing` subscriber that turns each event into a `log`
//! record with the same target, level and fields, so they reach the one stderr logger of
//! [`super::messages::init_logging`]. Spans are ignored: nothing here times or nests them.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Forwards `tracing` events to the `log` facade.
pub struct ToLog;

fn level(l: &Level) -> log::Level {
    match *l {
        Level::ERROR => log::Level::Error,
        Level::WARN => log::Level::Warn,
        Level::INFO => log::Level::Info,
        Level::DEBUG => log::Level::Debug,
        _ => log::Level::Trace,
    }
}

/// An event's text: its `message` first, then its other fields as `name=value`.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // Writing to a String cannot fail.
        let _ = if field.name() == "message" {
            write!(self.message, "{value:?}")
        } else {
            write!(self.fields, " {}={value:?}", field.name())
        };
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

impl Subscriber for ToLog {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.is_event() && log::log_enabled!(target: m.target(), level(m.level()))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Never enabled (see `enabled`); an id is still required.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let m = event.metadata();
        let mut text = Text::default();
        event.record(&mut text);
        log::logger().log(
            &log::Record::builder()
                .level(level(m.level()))
                .target(m.target())
                .module_path(m.module_path())
                .file(m.file())
                .line(m.line())
                .args(format_args!("{}{}", text.message, text.fields))
                .build(),
        );
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
