namespace CqrsDapr.DaprEmulator.Components;

/// <summary>
/// Resolves <c>secretKeyRef</c> in component metadata. Supported: <c>secretstores.local.env</c> (the value of the
/// environment variable named by <c>secretKeyRef.name</c>, after the store's optional <c>prefix</c>). When a component
/// names no <c>auth.secretStore</c> the emulator reads the environment variable directly (standalone convenience).
/// </summary>
internal sealed class SecretResolver(IReadOnlyList<ComponentDefinition> secretStores, Func<string, string?> environment)
{
    public string Resolve(string? storeName, string secretName, string key, string component)
    {
        string? prefix = null;
        if (!string.IsNullOrEmpty(storeName))
        {
            var store = secretStores.FirstOrDefault(s => s.Name == storeName)
                ?? throw new ResourceException($"component '{component}' references secret store '{storeName}', which is not defined");
            if (store.Type != "secretstores.local.env")
            {
                throw new ResourceException($"secret store type '{store.Type}' is not emulated (only secretstores.local.env)");
            }

            prefix = store.Get("prefix");
        }

        // local.env returns a single-entry map {name: value}; a key other than the name finds nothing.
        if (!string.Equals(key, secretName, StringComparison.Ordinal) && !string.IsNullOrEmpty(storeName))
        {
            throw new ResourceException($"component '{component}': secret '{secretName}' has no key '{key}' (local.env secrets have one key, their name)");
        }

        return environment((prefix ?? "") + secretName)
            ?? throw new ResourceException($"component '{component}': secret '{secretName}' not found in the environment");
    }
}
