namespace CqrsDapr.Gateway.PathGuard;

/// <summary>
/// Decides which request paths may reach a service. Only the public API (<c>/api/...</c>) is forwarded; the Dapr
/// app channel (<c>/dapr/*</c>), actor invocation (<c>/actors/*</c>) and <c>/internal/*</c> never are, however the
/// client spells them.
/// </summary>
/// <remarks>
/// Servers behind the gateway may decode a path differently than Kestrel did (a second percent-decoding,
/// backslashes, doubled slashes, dot segments), so the decision is taken on the most decoded form any of them could
/// see, and a path whose raw and canonical forms disagree about being public is refused.
/// </remarks>
internal static class PublicPaths
{
    private const string ApiSegment = "api";
    private const int MaxDecodeRounds = 4;
    private static readonly string[] InternalSegments = ["dapr", "actors", "internal"];

    public static PathVerdict Classify(string? path)
    {
        var raw = string.IsNullOrEmpty(path) ? "/" : path;
        var canonical = Canonicalize(raw);
        var first = FirstSegment(canonical);
        if (InternalSegments.Any(segment => string.Equals(first, segment, StringComparison.OrdinalIgnoreCase)))
        {
            return PathVerdict.Internal;
        }

        var rawIsApi = IsApi(raw);
        if (rawIsApi != string.Equals(first, ApiSegment, StringComparison.OrdinalIgnoreCase))
        {
            return PathVerdict.Ambiguous;
        }

        return rawIsApi ? PathVerdict.PublicApi : PathVerdict.Other;
    }

    /// <summary>Decodes until stable, turns backslashes into slashes, drops empty and dot segments.</summary>
    public static string Canonicalize(string path)
    {
        var current = path;
        for (var round = 0; round < MaxDecodeRounds; round++)
        {
            var decoded = Uri.UnescapeDataString(current);
            if (decoded == current)
            {
                break;
            }

            current = decoded;
        }

        var segments = new List<string>();
        foreach (var segment in current.Replace('\\', '/').Split('/'))
        {
            switch (segment)
            {
                case "" or ".":
                    break;
                case "..":
                    if (segments.Count > 0)
                    {
                        segments.RemoveAt(segments.Count - 1);
                    }

                    break;
                default:
                    segments.Add(segment);
                    break;
            }
        }

        return "/" + string.Join('/', segments);
    }

    private static bool IsApi(string path) =>
        path.Equals("/" + ApiSegment, StringComparison.OrdinalIgnoreCase)
        || path.StartsWith("/" + ApiSegment + "/", StringComparison.OrdinalIgnoreCase);

    /// <summary>The first segment without path parameters (<c>;x</c>), trailing dots or blanks some servers ignore.</summary>
    private static string FirstSegment(string canonical)
    {
        var segment = canonical.AsSpan(1);
        var slash = segment.IndexOf('/');
        if (slash >= 0)
        {
            segment = segment[..slash];
        }

        var parameters = segment.IndexOf(';');
        if (parameters >= 0)
        {
            segment = segment[..parameters];
        }

        return segment.TrimEnd(". \t\0").ToString();
    }
}

internal enum PathVerdict
{
    /// <summary>Under <c>/api/</c>: may be forwarded.</summary>
    PublicApi,

    /// <summary>Not the public API (the gateway's own endpoints, or unknown): never forwarded.</summary>
    Other,

    /// <summary>A Dapr or internal path in any spelling.</summary>
    Internal,

    /// <summary>Public in one reading and not in another (for example <c>//api/x</c>).</summary>
    Ambiguous,
}
