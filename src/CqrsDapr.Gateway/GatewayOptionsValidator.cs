using Microsoft.Extensions.Options;

namespace CqrsDapr.Gateway;

/// <summary>Stops the gateway at start with every invalid <c>Gateway</c> setting named, rather than one vague failure.</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var problems = options.Problems().ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
