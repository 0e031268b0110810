using System.Text.Json;
using System.Text.Json.Serialization;
using CqrsDapr.Contracts.Products;

namespace CqrsDapr.Contracts;

/// <summary>
/// Source-generated JSON for everything in the contract: camelCase, no reflection. Both services serialize and read
/// events only through this context, so the wire format is defined in one place.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EventEnvelope))]
[JsonSerializable(typeof(EventLogPage))]
[JsonSerializable(typeof(ProductCreated))]
[JsonSerializable(typeof(ProductUpdated))]
[JsonSerializable(typeof(ProductStockAdjusted))]
[JsonSerializable(typeof(ProductDeleted))]
public sealed partial class ContractsJson : JsonSerializerContext;
