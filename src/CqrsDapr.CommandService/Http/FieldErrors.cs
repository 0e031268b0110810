namespace CqrsDapr.CommandService.Http;

/// <summary>Field-level validation messages, keyed by the field's JSON path (<c>price.amount</c>), as RFC 9457 <c>errors</c>.</summary>
internal sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> errors = new(StringComparer.Ordinal);

    public bool Any => errors.Count > 0;

    public void Add(string field, string message)
    {
        if (!errors.TryGetValue(field, out var messages))
        {
            errors[field] = messages = [];
        }

        messages.Add(message);
    }

    public bool Has(string field) => errors.ContainsKey(field);

    public Dictionary<string, string[]> ToDictionary() => errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}
