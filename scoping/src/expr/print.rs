//! Printing a syntax tree back as expression text.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::Node;

fn write_str(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        if c == '"' || c == '\\' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

fn write_operand(f: &mut Formatter<'_>, node: &Node, paren: bool) -> fmt::Result {
    if paren {
        write!(f, "({node})")
    } else {
        write!(f, "{node}")
    }
}

impl Display for Node {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Node::Str(s) => write_str(f, s),
            Node::Number { value, hex: false } => write!(f, "{value}"),
            Node::Number { value, hex: true } => {
                if *value < 0 {
                    write!(f, "-&H{:X}", value.unsigned_abs())
                } else {
                    write!(f, "&H{value:X}")
                }
            }
            Node::Attribute(a) => write!(f, "[{}]", a.text()),
            Node::Name(n) => f.write_str(n),
            Node::Call { name, args } => {
                write!(f, "{name}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        // An omitted argument prints as nothing between the commas.
                        f.write_str(", ")?;
                    }
                    if let Some(arg) = arg {
                        write!(f, "{arg}")?;
                    }
                }
                f.write_char(')')
            }
            Node::Concat(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" & ")?;
                    }
                    write_operand(
                        f,
                        part,
                        matches!(part, Node::Concat(_) | Node::Compare { .. }),
                    )?;
                }
                Ok(())
            }
            Node::Compare { op, left, right } => {
                write_operand(f, left, matches!(**left, Node::Compare { .. }))?;
                write!(f, " {} ", op.as_str())?;
                write_operand(f, right, matches!(**right, Node::Compare { .. }))
            }
        }
    }
}
