// The user-assigned managed identity the function app runs as: it reads storage and Key Vault, writes telemetry,
// and is trusted by the Entra app registration (federated credential) in place of a client secret.
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
