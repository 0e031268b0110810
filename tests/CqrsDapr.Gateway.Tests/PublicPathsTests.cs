using CqrsDapr.Gateway.PathGuard;

namespace CqrsDapr.Gateway.Tests;

public sealed class PublicPathsTests
{
    [Theory]
    [InlineData("/api/products", "/api/products")]
    [InlineData("//api///products/", "/api/products")]
    [InlineData("/api/../dapr/config", "/dapr/config")]
    [InlineData("/api/%2e%2e%2Fdapr", "/dapr")]
    [InlineData("/%2564apr", "/dapr")]
    [InlineData("/api\\..\\actors\\x", "/actors/x")]
    [InlineData("/../../x", "/x")]
    public void Canonical_form_resolves_every_decoding_and_dot_segment(string path, string canonical) =>
        Assert.Equal(canonical, PublicPaths.Canonicalize(path));

    [Theory]
    [InlineData("/api/products/1", "PublicApi")]
    [InlineData("/API/products", "PublicApi")]
    [InlineData("/api", "PublicApi")]
    [InlineData("/health", "Other")]
    [InlineData("/apis", "Other")]
    [InlineData("/dapr/subscribe", "Internal")]
    [InlineData("/api\\..\\internal\\x", "Internal")]
    [InlineData("/Actors ", "Internal")]
    [InlineData("//api/products", "Ambiguous")]
    [InlineData("/api/%2e%2e/health", "Ambiguous")]
    public void Paths_are_classified_by_what_any_server_could_read_in_them(string path, string verdict) =>
        Assert.Equal(Enum.Parse<PathVerdict>(verdict), PublicPaths.Classify(path));
}
