using System.Reflection;
using System.Text.RegularExpressions;
using CqrsDapr.Contracts;

namespace CqrsDapr.ServiceDefaults.Tests;

/// <summary>The one definition of the error codes: each distinct, each kebab-case, every status mapped to one of them.</summary>
public sealed partial class ProblemCodesDefinitionTests
{
    private static readonly IReadOnlyDictionary<string, string> Codes = typeof(ProblemCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(field => field is { IsLiteral: true } && field.FieldType == typeof(string))
        .ToDictionary(field => field.Name, field => (string)field.GetRawConstantValue()!, StringComparer.Ordinal);

    [GeneratedRegex("^[a-z]+(-[a-z]+)*$")]
    private static partial Regex KebabCase();

    [Fact]
    public void Every_code_is_kebab_case()
    {
        Assert.True(Codes.Count >= 20, $"only {Codes.Count} codes found");
        Assert.All(Codes, code => Assert.Matches(KebabCase(), code.Value));
    }

    [Fact]
    public void No_two_constants_share_a_code()
    {
        var shared = Codes.GroupBy(code => code.Value, StringComparer.Ordinal).Where(group => group.Count() > 1).Select(group => group.Key);

        Assert.Empty(shared);
    }

    [Fact]
    public void The_codes_already_published_keep_their_strings()
    {
        Assert.Equal("product-not-found", ProblemCodes.ProductNotFound);
        Assert.Equal("version-mismatch", ProblemCodes.VersionMismatch);
        Assert.Equal("stock-below-zero", ProblemCodes.StockBelowZero);
        Assert.Equal("stock-overflow", ProblemCodes.StockOverflow);
        Assert.Equal("product-exists", ProblemCodes.ProductExists);
        Assert.Equal("duplicate-sku", ProblemCodes.DuplicateSku);
        Assert.Equal("concurrent-modification", ProblemCodes.ConcurrentModification);
        Assert.Equal("payload-too-large", ProblemCodes.PayloadTooLarge);
        Assert.Equal("unsupported-media-type", ProblemCodes.UnsupportedMediaType);
        Assert.Equal("idempotency-key-reused", ProblemCodes.IdempotencyKeyReused);
        Assert.Equal("invalid-query-parameter", ProblemCodes.InvalidQueryParameter);
        Assert.Equal("consistency-timeout", ProblemCodes.ConsistencyTimeout);
        Assert.Equal("rebuild-running", ProblemCodes.RebuildRunning);
        Assert.Equal("unauthorized", ProblemCodes.Unauthorized);
        Assert.Equal("conflict", ProblemCodes.Conflict);
    }

    [Theory]
    [InlineData(400, "bad-request")]
    [InlineData(401, "unauthorized")]
    [InlineData(404, "not-found")]
    [InlineData(405, "method-not-allowed")]
    [InlineData(413, "payload-too-large")]
    [InlineData(415, "unsupported-media-type")]
    [InlineData(429, "rate-limited")]
    [InlineData(500, "internal-error")]
    [InlineData(502, "backend-unavailable")]
    [InlineData(503, "service-unavailable")]
    [InlineData(504, "backend-timeout")]
    [InlineData(418, "client-error")]
    [InlineData(507, "server-error")]
    public void A_status_maps_to_its_general_code(int status, string code) => Assert.Equal(code, ProblemCodes.ForStatus(status));

    [Fact]
    public void Every_error_status_maps_to_a_defined_code()
    {
        var defined = Codes.Values.ToHashSet(StringComparer.Ordinal);

        Assert.All(Enumerable.Range(400, 200), status => Assert.Contains(ProblemCodes.ForStatus(status), defined));
    }
}
