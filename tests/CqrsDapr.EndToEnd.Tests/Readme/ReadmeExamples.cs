using System.Text;
using System.Text.RegularExpressions;

namespace CqrsDapr.EndToEnd.Tests.Readme;

/// <summary>
/// The README's walked examples: every <c>```bash</c> block right after a <c>&lt;!-- walked --&gt;</c> marker, in the
/// order a reader meets them, as one script. Each <c>curl</c> call states what it answers in its comment: the status
/// first (<c># 201 Created</c>, <c># HTTP/1.1 409 Conflict</c>), then optionally JSON members (<c>"version":2</c>) the
/// body must contain and, on comment lines of their own, headers (<c># ETag: "1"</c>). A value with <c>…</c> in it is a
/// placeholder and is not checked.
/// </summary>
internal sealed partial class ReadmeExamples
{
    public const string Marker = "<!-- walked -->";

    private ReadmeExamples(string script, IReadOnlyList<ExpectedAnswer> answers)
    {
        Script = script;
        Answers = answers;
    }

    /// <summary>The blocks, joined in README order.</summary>
    public string Script { get; }

    /// <summary>What each <c>curl</c> call of <see cref="Script"/> answers, in the order they run.</summary>
    public IReadOnlyList<ExpectedAnswer> Answers { get; }

    public static ReadmeExamples Parse(string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var script = new StringBuilder();
        var answers = new List<ExpectedAnswer>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != Marker)
            {
                continue;
            }

            if (i + 1 >= lines.Length || lines[i + 1].Trim() != "```bash")
            {
                throw new FormatException($"README line {i + 1}: {Marker} must stand right before a ```bash block.");
            }

            var block = new List<string>();
            for (i += 2; i < lines.Length && lines[i].Trim() != "```"; i++)
            {
                block.Add(lines[i]);
            }

            script.AppendJoin('\n', block).Append('\n');
            answers.AddRange(ExpectedAnswers(block));
        }

        return new ReadmeExamples(script.ToString(), answers);
    }

    /// <summary>One per <c>curl</c> call: its logical line (continuations joined) and the comment lines under it.</summary>
    private static IEnumerable<ExpectedAnswer> ExpectedAnswers(List<string> block)
    {
        var logical = JoinContinuations(block);
        for (var i = 0; i < logical.Count; i++)
        {
            var (code, comment) = SplitComment(logical[i]);
            if (!CurlCall().IsMatch(code))
            {
                continue;
            }

            var notes = new List<string>();
            if (comment is not null)
            {
                notes.Add(comment);
            }

            while (i + 1 < logical.Count && logical[i + 1].TrimStart().StartsWith('#'))
            {
                notes.Add(logical[++i].TrimStart()[1..].Trim());
            }

            yield return ExpectedAnswer.From(code.Trim(), notes);
        }
    }

    private static List<string> JoinContinuations(List<string> block)
    {
        var logical = new List<string>();
        var current = new StringBuilder();
        foreach (var line in block)
        {
            var (code, _) = SplitComment(line);
            if (code.TrimEnd().EndsWith('\\'))
            {
                current.Append(code.TrimEnd()[..^1]).Append(' ');
                continue;
            }

            logical.Add(current.Append(line).ToString());
            current.Clear();
        }

        if (current.Length > 0)
        {
            logical.Add(current.ToString());
        }

        return logical;
    }

    /// <summary>Splits a shell line at its comment: a <c>#</c> after white space and outside quotes.</summary>
    private static (string Code, string? Comment) SplitComment(string line)
    {
        char? quote = null;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote is { } open)
            {
                quote = c == open ? null : quote;
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1])))
            {
                return (line[..i], line[(i + 1)..].Trim());
            }
        }

        return (line, null);
    }

    [GeneratedRegex(@"(^|[\s($|])curl\s")]
    private static partial Regex CurlCall();
}

/// <summary>What one <c>curl</c> call of the README says it answers.</summary>
internal sealed partial record ExpectedAnswer(string Command, int Status, IReadOnlyList<string> JsonMembers, IReadOnlyList<(string Name, string Value)> Headers)
{
    public static ExpectedAnswer From(string command, List<string> notes)
    {
        var status = notes.Select(note => StatusFirst().Match(note)).FirstOrDefault(match => match.Success)
            ?? throw new FormatException($"The README does not say what this call answers (a comment starting with the status): {command}");
        var members = notes.SelectMany(note => JsonMember().Matches(note)).Select(match => match.Value)
            .Where(member => !member.Contains('…', StringComparison.Ordinal)).ToList();
        var headers = notes.Select(note => HeaderLine().Match(note)).Where(match => match.Success)
            .Select(match => (match.Groups["name"].Value, match.Groups["value"].Value.Trim()))
            .Where(header => !header.Item2.Contains('…', StringComparison.Ordinal)).ToList();
        return new ExpectedAnswer(command, int.Parse(status.Groups["status"].Value, System.Globalization.CultureInfo.InvariantCulture), members, headers);
    }

    [GeneratedRegex(@"^(HTTP/\S+\s+)?(?<status>[1-5]\d\d)\b")]
    private static partial Regex StatusFirst();

    /// <summary><c>"name":value</c> with a string, number or literal value.</summary>
    [GeneratedRegex("\"[A-Za-z]+\":(\"[^\"]*\"|-?[0-9][0-9.]*|true|false|null)")]
    private static partial Regex JsonMember();

    /// <summary>A whole comment that is a header, as curl -i shows it.</summary>
    [GeneratedRegex(@"^(?<name>[A-Z][A-Za-z-]+): (?<value>.+)$")]
    private static partial Regex HeaderLine();
}
