using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CqrsDapr.DaprEmulator.PubSub.Routing;

/// <summary>A <c>match</c> expression the emulator does not implement (or that is not valid CEL).</summary>
internal sealed class RouteExpressionException(string message) : Exception(message);

/// <summary>
/// The subset of CEL that routing rules use in practice, evaluated over <c>event</c> (the parsed CloudEvent) with
/// cel-go's semantics as daprd 1.16 (<c>pkg/expr</c>) applies them: attribute selection (<c>event.type</c>,
/// <c>event.data.kind</c>), <c>==</c>/<c>!=</c> against string, number, bool and null literals, <c>!</c>, <c>&amp;&amp;</c>,
/// <c>||</c> and parentheses. Selecting an absent attribute is an evaluation error (daprd then takes the error path:
/// dead-letter topic or redelivery); <c>&amp;&amp;</c>/<c>||</c> absorb an error when the other side decides the result,
/// as CEL does. Anything else (functions, <c>in</c>, arithmetic, comparisons, indexing, macros) is refused at compile
/// time, loudly, rather than guessed.
/// </summary>
internal sealed class RouteExpression
{
    private readonly Node root;

    private RouteExpression(string text, Node root)
    {
        Text = text;
        this.root = root;
    }

    public string Text { get; }

    public static RouteExpression Compile(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(text);
        var node = parser.ParseExpression();
        parser.ExpectEnd();
        return new RouteExpression(text, node);
    }

    /// <summary>True/false, or an error message (daprd: "error finding matching route").</summary>
    public bool Evaluate(JsonElement cloudEvent, out string? error)
    {
        var value = root.Evaluate(cloudEvent);
        switch (value.Kind)
        {
            case Kind.Error:
                error = value.Error;
                return false;
            case Kind.Bool:
                error = null;
                return value.Bool;
            default:
                error = $"the result of match expression {Text} was not a boolean";
                return false;
        }
    }

    private enum Kind
    {
        Null,
        Bool,
        Number,
        String,
        Map,
        List,
        Error,
    }

    private readonly record struct Value(Kind Kind, bool Bool = false, double Number = 0, string? String = null, JsonElement Json = default, string? Error = null)
    {
        public static Value Fail(string message) => new(Kind.Error, Error: message);

        public static Value FromJson(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.String => new Value(Kind.String, String: element.GetString()),
            JsonValueKind.Number => new Value(Kind.Number, Number: element.GetDouble()),
            JsonValueKind.True => new Value(Kind.Bool, Bool: true),
            JsonValueKind.False => new Value(Kind.Bool, Bool: false),
            JsonValueKind.Object => new Value(Kind.Map, Json: element),
            JsonValueKind.Array => new Value(Kind.List, Json: element),
            _ => new Value(Kind.Null),
        };
    }

    private abstract class Node
    {
        public abstract Value Evaluate(JsonElement cloudEvent);
    }

    private sealed class Literal(Value value) : Node
    {
        public override Value Evaluate(JsonElement cloudEvent) => value;
    }

    /// <summary><c>event.a.b</c>: field selection on maps; an absent key is an error ("no such key").</summary>
    private sealed class Select(string[] path) : Node
    {
        public override Value Evaluate(JsonElement cloudEvent)
        {
            var current = cloudEvent;
            foreach (var name in path)
            {
                if (current.ValueKind != JsonValueKind.Object)
                {
                    return current.ValueKind == JsonValueKind.Null || current.ValueKind == JsonValueKind.Undefined
                        ? Value.Fail($"no such key: {name}")
                        : Value.Fail($"type '{Value.FromJson(current).Kind.ToString().ToLowerInvariant()}' does not support field selection");
                }

                var found = false;
                foreach (var property in current.EnumerateObject())
                {
                    // Go's map keeps the last of duplicate keys.
                    if (property.NameEquals(name))
                    {
                        current = property.Value;
                        found = true;
                    }
                }

                if (!found)
                {
                    return Value.Fail($"no such key: {name}");
                }
            }

            return Value.FromJson(current);
        }
    }

    private sealed class Equal(Node left, Node right, bool negate) : Node
    {
        public override Value Evaluate(JsonElement cloudEvent)
        {
            var l = left.Evaluate(cloudEvent);
            if (l.Kind == Kind.Error)
            {
                return l;
            }

            var r = right.Evaluate(cloudEvent);
            if (r.Kind == Kind.Error)
            {
                return r;
            }

            // Heterogeneous equality (cel-go): values of different types are simply not equal.
            var equal = l.Kind == r.Kind && l.Kind switch
            {
                Kind.Null => true,
                Kind.Bool => l.Bool == r.Bool,
                Kind.Number => l.Number.Equals(r.Number),
                Kind.String => string.Equals(l.String, r.String, StringComparison.Ordinal),
                _ => JsonElement.DeepEquals(l.Json, r.Json),
            };
            return new Value(Kind.Bool, Bool: equal != negate);
        }
    }

    private sealed class Not(Node operand) : Node
    {
        public override Value Evaluate(JsonElement cloudEvent)
        {
            var v = operand.Evaluate(cloudEvent);
            return v.Kind switch
            {
                Kind.Error => v,
                Kind.Bool => new Value(Kind.Bool, Bool: !v.Bool),
                _ => Value.Fail("no such overload: !_"),
            };
        }
    }

    /// <summary>CEL's commutative logic: a deciding operand wins over an error on the other side.</summary>
    private sealed class Logical(Node left, Node right, bool isAnd) : Node
    {
        public override Value Evaluate(JsonElement cloudEvent)
        {
            var l = left.Evaluate(cloudEvent);
            if (l.Kind == Kind.Bool && l.Bool != isAnd)
            {
                return l; // false && _, true || _
            }

            var r = right.Evaluate(cloudEvent);
            if (r.Kind == Kind.Bool && r.Bool != isAnd)
            {
                return r;
            }

            if (l.Kind == Kind.Error)
            {
                return l;
            }

            if (r.Kind == Kind.Error)
            {
                return r;
            }

            return l.Kind == Kind.Bool && r.Kind == Kind.Bool
                ? new Value(Kind.Bool, Bool: isAnd)
                : Value.Fail(isAnd ? "no such overload: _&&_" : "no such overload: _||_");
        }
    }

    private sealed class Parser(string text)
    {
        private int position;

        public Node ParseExpression()
        {
            var node = ParseAnd();
            while (TryConsume("||"))
            {
                node = new Logical(node, ParseAnd(), isAnd: false);
            }

            return node;
        }

        public void ExpectEnd()
        {
            SkipWhitespace();
            if (position < text.Length)
            {
                throw Unsupported($"unexpected '{text[position..]}'");
            }
        }

        private Node ParseAnd()
        {
            var node = ParseEquality();
            while (TryConsume("&&"))
            {
                node = new Logical(node, ParseEquality(), isAnd: true);
            }

            return node;
        }

        private Node ParseEquality()
        {
            var node = ParseUnary();
            if (TryConsume("=="))
            {
                return new Equal(node, ParseUnary(), negate: false);
            }

            return TryConsume("!=") ? new Equal(node, ParseUnary(), negate: true) : node;
        }

        private Node ParseUnary()
        {
            SkipWhitespace();
            if (Peek() == '!' && Peek(1) != '=')
            {
                position++;
                return new Not(ParseUnary());
            }

            return ParsePrimary();
        }

        private Node ParsePrimary()
        {
            SkipWhitespace();
            var c = Peek();
            if (c == '(')
            {
                position++;
                var inner = ParseExpression();
                if (!TryConsume(")"))
                {
                    throw Unsupported("missing ')'");
                }

                return inner;
            }

            if (c is '"' or '\'')
            {
                return new Literal(new Value(Kind.String, String: ReadString()));
            }

            if (char.IsAsciiDigit(c) || (c == '-' && char.IsAsciiDigit(Peek(1))))
            {
                return new Literal(new Value(Kind.Number, Number: ReadNumber()));
            }

            if (char.IsAsciiLetter(c) || c == '_')
            {
                var identifier = ReadIdentifier();
                switch (identifier)
                {
                    case "true":
                        return new Literal(new Value(Kind.Bool, Bool: true));
                    case "false":
                        return new Literal(new Value(Kind.Bool, Bool: false));
                    case "null":
                        return new Literal(new Value(Kind.Null));
                    case "event":
                        var path = new List<string>();
                        while (Peek() == '.')
                        {
                            position++;
                            if (!char.IsAsciiLetter(Peek()) && Peek() != '_')
                            {
                                throw Unsupported("expected an attribute name after '.'");
                            }

                            path.Add(ReadIdentifier());
                        }

                        if (Peek() is '(' or '[')
                        {
                            throw Unsupported("function calls and indexing");
                        }

                        return new Select([.. path]);
                    default:
                        throw Unsupported($"'{identifier}' (only the variable 'event' is declared)");
                }
            }

            throw Unsupported(position < text.Length ? $"unexpected '{text[position..]}'" : "unexpected end of expression");
        }

        private string ReadIdentifier()
        {
            var start = position;
            while (position < text.Length && (char.IsAsciiLetterOrDigit(text[position]) || text[position] == '_'))
            {
                position++;
            }

            return text[start..position];
        }

        private double ReadNumber()
        {
            var start = position;
            if (Peek() == '-')
            {
                position++;
            }

            while (char.IsAsciiDigit(Peek()) || Peek() == '.')
            {
                position++;
            }

            if (Peek() is 'u' or 'e' or 'E' or 'x')
            {
                throw Unsupported("number suffixes, exponents and hex literals");
            }

            return double.Parse(text.AsSpan(start, position - start), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        }

        private string ReadString()
        {
            var quote = text[position++];
            var result = new StringBuilder();
            while (position < text.Length && text[position] != quote)
            {
                var c = text[position++];
                if (c != '\\')
                {
                    result.Append(c);
                    continue;
                }

                if (position >= text.Length)
                {
                    break;
                }

                var escaped = text[position++];
                result.Append(escaped switch
                {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '\\' or '"' or '\'' => escaped,
                    _ => throw Unsupported($"the escape sequence '\\{escaped}'"),
                });
            }

            if (position >= text.Length)
            {
                throw Unsupported("unterminated string literal");
            }

            position++;
            return result.ToString();
        }

        private bool TryConsume(string token)
        {
            SkipWhitespace();
            if (string.CompareOrdinal(text, position, token, 0, token.Length) != 0)
            {
                return false;
            }

            position += token.Length;
            return true;
        }

        private char Peek(int ahead = 0) => position + ahead < text.Length ? text[position + ahead] : '\0';

        private void SkipWhitespace()
        {
            while (position < text.Length && char.IsWhiteSpace(text[position]))
            {
                position++;
            }
        }

        private RouteExpressionException Unsupported(string what) =>
            new($"match expression \"{text}\" is not supported by the Dapr emulator: {what}. It implements event.<attribute>[.<attribute>...] compared with == or != to string, number, bool or null literals, combined with !, && and || and parentheses");
    }
}
